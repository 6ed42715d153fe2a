"""Relaydesk: customer support on WhatsApp with an explainable escalation model."""

__version__ = "0.1.0"
