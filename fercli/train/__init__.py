"""Training: data as uint8 tensors, batched augmentation, losses, and the epoch loop."""
