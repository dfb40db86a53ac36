"""The latent k-NN accuracy lives in latent_common/metrics.py (numpy only: the torch-free ONNX-pair export uses it)."""

from latent_common.metrics import KNN_K, TooFewPoints, check_knn_points, knn_accuracy

__all__ = ["KNN_K", "TooFewPoints", "check_knn_points", "knn_accuracy"]
