"""Real time: Socket.IO rooms per meeting, fed only by committed meeting events."""
