"""Turn a training run into a model bundle: ONNX graphs, the test-set embedding, and bundle.json."""
