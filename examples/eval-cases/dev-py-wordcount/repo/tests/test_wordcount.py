import unittest

from wordcount import count_words


class WordCountTest(unittest.TestCase):
    def test_plain_words(self):
        self.assertEqual(count_words("a b a"), {"a": 2, "b": 1})


if __name__ == "__main__":
    unittest.main()
