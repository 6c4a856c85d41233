"""AlbumGen's domain tools: plain typed functions and backends that know nothing of LangChain."""
