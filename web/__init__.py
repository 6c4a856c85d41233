"""The AlbumGen web app."""
