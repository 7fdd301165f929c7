"""RSS and Atom feeds (health blogs, journals, agencies' news) as a network: `api` fetches
and parses politely and safely, `normalize` turns entries into posts, `collector` makes
one page per pass."""
