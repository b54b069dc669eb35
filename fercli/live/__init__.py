"""Real-time FER on video: detect (downscaled, every few frames) → track (optical flow in
between) → align → classify (ONNX Runtime or torch) with CAM heat maps → smooth → draw."""
