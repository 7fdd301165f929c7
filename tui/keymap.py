"""The key map, in one place: the help screen and the README show this table."""

from __future__ import annotations

KEYMAP: tuple[tuple[str, str], ...] = (
    ("j / k, ↓ / ↑", "move down / up the post list (PgUp/PgDn, Home too)"),
    ("Enter", "open the selected post in the reading pane (marks it read); Esc returns"),
    ("T, Enter on an opened post", "the conversation: ancestors and replies, fetched once "
                                   "then read from the archive (r fetches again; Esc back)"),
    ("o", "open the post in the web browser"),
    ("l", "the post's links, where each goes (Enter opens, y copies)"),
    ("i", "show the post's images below it, one at a time (a sensitive one after a "
          "second i); alt text always shown"),
    ("r", "toggle read / unread"),
    ("s", "star / unstar"),
    ("/", "filter with the query language (Enter applies, empty clears, Esc cancels)"),
    ("t", "pick a topic"),
    ("n", "jump to the next unread post"),
    ("M", "mute the post's author or a hashtag: hidden everywhere, not deleted "
          "(rounds mutes list / remove)"),
    ("Catch-up", "in the sidebar: new since your last catch-up, by author, notable "
                 "first; Enter opens a group and marks it read"),
    ("Trends", "in the sidebar: posts per topic per day, rising topics and hashtags, most "
               "shared links; Enter on a rising one shows its posts"),
    ("Papers", "in the sidebar: the papers, preprints and trials your voices shared, most "
               "voices first; Enter shows the posts discussing one (Enter on a post shows "
               "it in the lists), o opens its link, p changes the period"),
    ("c", "curator: lists and members (a add, d remove, m move, y sync status; Esc back)"),
    ("R", "collect now (runs in the background; progress in the status bar)"),
    ("Tab", "move focus between the sidebar, the list and the reading pane"),
    ("?", "this help"),
    ("Ctrl+P", "command palette"),
    ("q", "quit"),
)
