"""Torch-free latent-space viewer: pygame for the window, onnxruntime for the decoder, numpy between."""
