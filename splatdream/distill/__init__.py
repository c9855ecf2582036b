"""Step 4: score distillation (SDS / VSD) over the particles: ``config``, ``trainer``, ``loop``, ``densify``,
``guidance``, ``score_net``, ``schedule``, ``colour_field``. Nothing above it in the pipeline is imported here."""
