"""Code loaded by the Rasa engine (Python 3.10): imports only rasa and the standard library."""
