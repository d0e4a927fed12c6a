import unittest

from wordcount import count_words


class HiddenWordCountTest(unittest.TestCase):
    def test_case_insensitive(self):
        self.assertEqual(count_words("The cat saw the dog"), {"the": 2, "cat": 1, "saw": 1, "dog": 1})

    def test_punctuation(self):
        self.assertEqual(count_words("Hi, hi!"), {"hi": 2})
        self.assertEqual(count_words("(yes) yes... YES"), {"yes": 3})

    def test_empty(self):
        self.assertEqual(count_words(""), {})
        self.assertEqual(count_words(" -- "), {})


if __name__ == "__main__":
    unittest.main()
