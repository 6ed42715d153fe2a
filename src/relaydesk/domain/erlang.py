"""Erlang C: the M/M/c queue in closed form (Poisson arrivals, exponential handle times,
`servers` identical slots, first come first served, nobody gives up).

The yardstick for `domain.simulation`: on such a queue the simulated mean wait must agree
with `erlang_c_wait`. Rates are per unit of time, and a wait comes back in the same unit
(arrivals per hour in, hours out).
"""

from __future__ import annotations

import math


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> float:
    """The probability that an arrival has to wait (every server busy)."""
    _check(arrival_rate, service_rate, servers)
    load = arrival_rate / service_rate  # offered load in erlangs
    blocking = 1.0  # Erlang B with 0 servers, then the stable recursion up to `servers`
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    utilisation = load / servers
    return blocking / (1.0 - utilisation * (1.0 - blocking))


def erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """The mean wait in queue of an M/M/c queue: `erlang_c / (servers * service_rate -
    arrival_rate)`, in the time unit of the rates."""
    waits = erlang_c(arrival_rate, service_rate, servers)
    return waits / (servers * service_rate - arrival_rate)


def _check(arrival_rate: float, service_rate: float, servers: int) -> None:
    for name, rate in (("arrival_rate", arrival_rate), ("service_rate", service_rate)):
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"{name} is {rate}; it must be a positive, finite rate.")
    if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
        raise ValueError(f"servers is {servers!r}; it must be a whole number, 1 or more.")
    if arrival_rate >= servers * service_rate:
        raise ValueError(
            f"arrival_rate {arrival_rate} is not below servers * service_rate "
            f"({servers} * {service_rate}): the queue grows without end and has no mean "
            "wait; add servers or lower the load."
        )
