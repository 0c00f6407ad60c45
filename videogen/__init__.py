"""videogen: text-to-video diffusion with camera control."""
