import unittest

from config import parse_host


class ConfigTest(unittest.TestCase):
    def test_host(self):
        self.assertEqual(parse_host(" example.org "), "example.org")


if __name__ == "__main__":
    unittest.main()
