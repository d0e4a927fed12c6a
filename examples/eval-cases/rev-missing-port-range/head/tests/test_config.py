import unittest

from config import parse_host, parse_port


class ConfigTest(unittest.TestCase):
    def test_host(self):
        self.assertEqual(parse_host(" example.org "), "example.org")

    def test_port(self):
        self.assertEqual(parse_port("8080"), 8080)


if __name__ == "__main__":
    unittest.main()
