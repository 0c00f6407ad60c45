"""Camera-motion presets, trajectories and camera control."""
