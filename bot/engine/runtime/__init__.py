"""What the running engine uses besides the trained model: not a training input."""
