import unittest

from textutil.slug import slugify


class HiddenSlugTest(unittest.TestCase):
    def test_punctuation_and_spaces(self):
        self.assertEqual(slugify("  Hello, World!  "), "hello-world")

    def test_runs_collapse(self):
        self.assertEqual(slugify("a -- b__c"), "a-b-c")

    def test_digits_kept(self):
        self.assertEqual(slugify("Release 2.0"), "release-2-0")

    def test_empty(self):
        self.assertEqual(slugify(""), "")
        self.assertEqual(slugify("!!!"), "")


if __name__ == "__main__":
    unittest.main()
