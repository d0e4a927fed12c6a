import unittest

from mathutil import clamp, sign


class MathutilTest(unittest.TestCase):
    def test_sign(self):
        self.assertEqual(sign(-4), -1)

    def test_clamp_low(self):
        self.assertEqual(clamp(-5, 0, 10), 0)


if __name__ == "__main__":
    unittest.main()
