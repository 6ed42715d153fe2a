"""Understanding: intents with calibrated confidence, out-of-scope detection, human requests,
sentiment and entities. Backends sit behind the protocols in `intent.py`."""
