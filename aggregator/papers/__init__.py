"""Papers: the scholarly works a post shares (DOIs, PubMed and PMC ids, arXiv ids,
ClinicalTrials.gov NCT numbers, and pages of known scholarly hosts), found in its links and
text (`detect`), titled from what the post carries, and enriched from Crossref on request
(`enrich`); `backfill` finds them in posts stored before migration 0010.

Ranked by the distinct voices who shared them: `aggregator.storage.papers`.
"""
