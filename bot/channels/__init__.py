"""Customer-facing channels and the one pipeline they share to reach the Rasa engine."""
