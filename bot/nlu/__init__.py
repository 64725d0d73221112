"""The sentence encoder's life outside the engine: exporting it to ONNX, fine-tuning it on
the intents (with made-up nonsense as outliers), run in `.venv` where torch is."""
