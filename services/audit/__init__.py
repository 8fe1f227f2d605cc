"""Audit a dossier from its Temporal history alone: what was recorded, what the dossier
looked like at any instant, planned versus actual time per step, and who made it late.

`history.decode` turns one or more workflow histories (the runs of one dossier, in
order) into a typed `DossierRecord`; `timeline` reads that record.
"""
