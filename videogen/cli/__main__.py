"""`python -m videogen.cli`: the `videogen` command."""

from videogen.cli import main

if __name__ == "__main__":
    main()
