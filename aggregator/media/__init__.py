"""Post images for the reader: downloaded on demand (`fetch`), kept in a size-limited
on-disk cache (`cache`), decoded and shrunk with Pillow (`decode`). Nothing here touches
the database: image bytes live only in the cache directory."""
