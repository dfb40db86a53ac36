"""What training, export and the viewer share without depending on each other: user-facing errors,
atomic writes, and the colours and charts drawn with pygame. numpy, pygame and the standard library only."""
