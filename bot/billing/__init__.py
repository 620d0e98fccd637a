"""Money: amounts as people write and read them, spending reports, their CSV and charts."""
