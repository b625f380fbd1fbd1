# libuv binding (filled by the uv work)
