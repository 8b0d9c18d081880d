"""VOC risk: features from the dialog store, the SYNTHETIC client simulator, training and the daily batch."""
