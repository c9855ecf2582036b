"""Models shared by several stages: the text and image embedders (CLIP, MiniLM) that retrieval, alignment and eval use."""
