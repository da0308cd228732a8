"""Quality against cost: what each cheaper setting loses, measured on a sample of the folder's videos.

``sample`` picks the videos, ``scoring`` compares answers field by field with scorers read from the
output schema, ``ladder`` lists candidate configurations priced before anything is sent, and
``tune`` runs the ladder under a spend cap (through an injected runner), stores the scores and
recommends the cheapest configuration within a tolerance of the reference.
"""
