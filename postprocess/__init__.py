"""Frame tooling: interpolation, upscaling, colour, transitions, previews and muxing."""
