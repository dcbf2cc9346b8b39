"""The endpoints, one router per resource: decisions on images, and the service's own state."""
