"""Reading past conversations from history files."""
