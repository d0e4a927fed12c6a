"""Word frequencies."""

import string


def count_words(text):
    """Returns a dict from each word of `text` to how often it occurs."""
    counts = {}
    for word in text.split():
        word = word.strip(string.punctuation).lower()
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts
