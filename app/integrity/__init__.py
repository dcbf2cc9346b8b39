"""Model integrity: the lock, its signature, digests and the startup gate."""
