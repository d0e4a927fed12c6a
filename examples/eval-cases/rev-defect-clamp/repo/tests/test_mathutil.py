import unittest

from mathutil import sign


class MathutilTest(unittest.TestCase):
    def test_sign(self):
        self.assertEqual(sign(-4), -1)


if __name__ == "__main__":
    unittest.main()
