"""Hugging Face in and out: import a Llama checkpoint as init weights, export a trained one.

``config`` maps ``config.json`` to the spec's llama section and back, ``importer`` packs a
checkpoint folder into init blobs (``node.training.init_weights``), ``export`` writes a folder
``transformers`` loads, ``tokenizer`` finds the dataset's tokenizer files. Only ``safetensors`` and
``json`` are used: ``transformers`` is an optional extra, needed by nobody but the user's tools.
"""
