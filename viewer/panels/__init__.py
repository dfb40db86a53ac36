"""The window's panels, one a file. To add one: a Panel subclass in a new file here (slot, key, build), one
line in scene.PANELS, and, if it needs them, a rect in layout.py and its words in words.py."""
