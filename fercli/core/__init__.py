"""Core building blocks shared by every command: taxonomy, image decoding, progress."""
