"""The reader: a cross-encoder that reads a question beside one candidate sentence (and the
sentence before it) and gives the probability that the sentence answers, with the answer's
words inside it.

- ``data``: the training format (articles, paragraphs, questions, gold answers), and which
  articles train, calibrate or validate;
- ``squad``: SQuAD 2.0's explorer pages → that format (``python -m bot reader-data``);
- ``pairs``: how a question and a sentence become the reader's input, the same at training
  and at question time;
- ``train``: fine-tuning MiniLM on torch (``python -m bot train-reader``), then ``export``:
  the OpenVINO graph with int8 weights and its manifest, committed under ``model/``;
- ``runtime``: scoring at question time with OpenVINO and ``tokenizers``, no torch."""
