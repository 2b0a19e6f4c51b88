"""The speakers' queue (đăng ký phát biểu)."""
