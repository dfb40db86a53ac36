"""What training, export and the viewer share without depending on each other: user-facing errors,
atomic writes, picture files decoded and converted, and the colours and charts drawn with pygame. numpy, pygame,
Pillow (imported only to read a picture file) and the standard library only."""
