"""Functions over artists, albums, songs and record labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composition.world.catalog_base import field, lister, lookup, param, simple
from composition.world.types import ListInfo, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["music_functions"]

ARTIST = param("artist", "artist_name", "string", "Name of the band or artist.")
ALBUM = param("album", "album_title", "string", "Exact title of the album.")
SONG = param("song", "song_title", "string", "Exact title of the song.")
LABEL = param("label", "record_label", "string", "Name of the record label.")


def _albums_of(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("artist", args.get("artist"))
    rows = [(a, kb.row("album", a)) for a in kb.where("album", "artist", args["artist"])]
    return {
        "albums": [
            {"album": a, "release_year": r["release_year"], "track_count": r["track_count"]} for a, r in rows
        ]
    }


def _tracks_of(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("album", args.get("album"))
    rows = [(s, kb.row("song", s)) for s in kb.where("song", "album", args["album"])]
    return {"tracks": [{"song": s, "duration_seconds": r["duration_seconds"]} for s, r in rows]}


def music_functions() -> list[WorldFunction]:
    """The music domain."""
    albums = ListInfo(
        "album",
        "albums",
        "released by {artist}",
        "album",
        {
            "release_year": ("most recent {item}", "earliest {item}"),
            "track_count": ("{item} with the most tracks", "{item} with the fewest tracks"),
        },
    )
    tracks = ListInfo(
        "track", "tracks", "on {album}", "song", {"duration_seconds": ("longest {item}", "shortest {item}")}
    )
    return [
        lookup(
            "get_artist_info",
            "music",
            "Look up an artist's genre, formation year, home city and size.",
            "learning about a band",
            "artist",
            ARTIST,
            [
                field("genre", "music_genre", "string", "Main music genre.", "the music genre of {x}"),
                field("formed_year", "year", "integer", "Year the act formed.", "the year {x} formed"),
                field("home_city", "city", "string", "City the act comes from.", "the home city of {x}"),
                field("members", "count", "integer", "Number of members.", "the number of members in {x}"),
            ],
        ),
        lookup(
            "get_album_info",
            "music",
            "Look up an album's artist, release year, track count and label.",
            "looking up album details",
            "album",
            ALBUM,
            [
                field(
                    "artist",
                    "artist_name",
                    "string",
                    "Artist who recorded it.",
                    "the artist behind {x}",
                    "the band that recorded {x}",
                ),
                field(
                    "release_year",
                    "year",
                    "integer",
                    "Release year.",
                    "the release year of {x}",
                    "the year {x} was released",
                ),
                field("track_count", "count", "integer", "Number of tracks.", "the number of tracks on {x}"),
                field(
                    "label", "record_label", "string", "Record label.", "the record label that put out {x}"
                ),
            ],
        ),
        lookup(
            "get_song_info",
            "music",
            "Look up a song's artist, album, length, release year and tempo.",
            "identifying a song",
            "song",
            SONG,
            [
                field("artist", "artist_name", "string", "Performing artist.", "the performer of {x}"),
                field(
                    "album", "album_title", "string", "Album the song is on.", "the album that includes {x}"
                ),
                field(
                    "duration_seconds",
                    "seconds",
                    "integer",
                    "Length in seconds.",
                    "the length of {x} in seconds",
                ),
                field("release_year", "year", "integer", "Release year.", "the year {x} was released"),
                field(
                    "bpm",
                    "bpm",
                    "integer",
                    "Tempo in beats per minute.",
                    "the tempo of {x} in beats per minute",
                ),
            ],
        ),
        simple(
            "list_artist_albums",
            "music",
            "List an artist's albums with release years and track counts.",
            "browsing an artist's discography",
            [ARTIST],
            [
                lister(
                    "albums",
                    "Albums by the artist.",
                    (
                        param("album", "album_title", "string", "Album title."),
                        param("release_year", "year", "integer", "Release year."),
                        param("track_count", "count", "integer", "Number of tracks."),
                    ),
                    albums,
                )
            ],
            _albums_of,
            {"albums": ["the albums released by {artist}"]},
        ),
        simple(
            "list_album_tracks",
            "music",
            "List the tracks of an album with their lengths.",
            "building a playlist",
            [ALBUM],
            [
                lister(
                    "tracks",
                    "Tracks in album order.",
                    (
                        param("song", "song_title", "string", "Song title."),
                        param("duration_seconds", "seconds", "integer", "Length in seconds."),
                    ),
                    tracks,
                )
            ],
            _tracks_of,
            {"tracks": ["the tracks on {album}"]},
        ),
        lookup(
            "get_record_label_info",
            "music",
            "Look up where a record label is based and when it started.",
            "researching record labels",
            "record_label",
            LABEL,
            [
                field(
                    "headquarters_city",
                    "city",
                    "string",
                    "City of the head office.",
                    "the city where {x} is based",
                ),
                field("founded_year", "year", "integer", "Year founded.", "the year {x} was founded"),
            ],
        ),
    ]
