"""The demo shop: Lucky Cafe, with a menu, six tables and three staff with known PINs."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopqr.models import Category, Option, OptionGroup, Product, Shift, Shop, utcnow
from shopqr.services.shops import add_staff, add_table, create_shop

DEMO_SLUG = "lucky-cafe"
DEMO_STAFF = (
    # name, role, PIN, email, password
    ("Sokha", "owner", "135790", "owner@lucky-cafe.example", "lucky-owner-demo"),
    ("Dara", "cashier", "246802", None, None),
    ("Vanna", "barista", "314159", None, None),
)

SIZE = ("Size", "ទំហំ", [("Small", "តូច", "0", False), ("Regular", "មធ្យម", "0.50", True),
                         ("Large", "ធំ", "1.00", False)])
SUGAR = ("Sugar", "កម្រិតស្ករ", [("0%", "0%", "0", False), ("25%", "25%", "0", False),
                           ("50%", "50%", "0", False), ("75%", "75%", "0", False),
                           ("100%", "100%", "0", True)])
ICE = ("Ice", "ទឹកកក", [("No ice", "មិនដាក់ទឹកកក", "0", False), ("Less ice", "ទឹកកកតិច", "0", False),
                       ("Normal ice", "ទឹកកកធម្មតា", "0", True)])
SPICE = ("Spice", "កម្រិតហឹរ", [("Not spicy", "មិនហឹរ", "0", True), ("Hot", "ហឹរ", "0", False)])
EXTRA_SHOT = ("Extra shot", "បន្ថែមកាហ្វេ", [("No", "មិនថែម", "0", True),
                                          ("Yes", "ថែម", "0.50", False)])
# A multi-select group: guests pick up to 3 (rule: kind, at least, at most).
TOPPINGS = ("Toppings", "គ្រឿងបន្ថែម", [("Pearls", "គុជខ្មៅ", "0.50", False),
                                      ("Grass jelly", "ចាហួយខ្មៅ", "0.50", False),
                                      ("Pudding", "ពូឌីង", "0.75", False),
                                      ("Cheese foam", "ពពុះឈីស", "0.75", False)],
            ("multi", 0, 3))

MENU = [
    ("Coffee", "កាហ្វេ", [
        ("Espresso", "អេសប្រេសូ", "1.50", "coffee", [EXTRA_SHOT]),
        ("Americano", "អាមេរិកាណូ", "2.00", "coffee", [SIZE, SUGAR, EXTRA_SHOT]),
        ("Cappuccino", "កាពូឈីណូ", "2.50", "coffee", [SIZE, SUGAR, EXTRA_SHOT]),
        ("Latte", "ឡាតេ", "2.50", "coffee", [SIZE, SUGAR, EXTRA_SHOT]),
        ("Iced Khmer Coffee", "កាហ្វេទឹកដោះគោទឹកកក", "1.75", "iced", [SIZE, SUGAR, ICE]),
        ("Iced Latte", "ឡាតេទឹកកក", "2.75", "iced", [SIZE, SUGAR, ICE, EXTRA_SHOT]),
        ("Coconut Coffee", "កាហ្វេដូង", "3.00", "iced", [SIZE, SUGAR, ICE]),
    ]),
    ("Tea", "តែ", [
        ("Jasmine Tea", "តែម្លិះ", "1.50", "tea", [SIZE, SUGAR]),
        ("Iced Lemon Tea", "តែក្រូចឆ្មាទឹកកក", "1.75", "iced", [SIZE, SUGAR, ICE]),
        ("Thai Milk Tea", "តែទឹកដោះគោថៃ", "2.25", "iced", [SIZE, SUGAR, ICE, TOPPINGS]),
        ("Matcha Latte", "ម៉ាចាឡាតេ", "3.00", "tea", [SIZE, SUGAR, ICE]),
    ]),
    ("Smoothies", "ទឹកក្រឡុក", [
        ("Mango Smoothie", "ទឹកក្រឡុកស្វាយ", "2.75", "smoothie", [SIZE, SUGAR]),
        ("Passion Fruit Soda", "សូដាផាសិន", "2.25", "smoothie", [SIZE, ICE]),
        ("Fresh Coconut", "ដូងស្រស់", "1.50", "smoothie", []),
    ]),
    ("Food", "អាហារ", [
        ("Fried Rice", "បាយឆា", "3.50", "food", [SPICE]),
        ("Lok Lak", "ឡុកឡាក់", "4.50", "food", [SPICE]),
        ("Chicken Sandwich", "នំប៉័ងសាច់មាន់", "3.25", "food", []),
        ("Num Banh Chok", "នំបញ្ចុក", "2.50", "food", [SPICE]),
    ]),
    ("Bakery", "នំ", [
        ("Croissant", "ក្រូសង់", "1.75", "pastry", []),
        ("Banana Cake", "នំចេក", "1.50", "pastry", []),
        ("Chocolate Muffin", "ម៉ាហ្វីនសូកូឡា", "2.00", "pastry", []),
    ]),
]


def seed_menu(db: Session, shop: Shop) -> int:
    """Add the demo menu to a shop; returns the number of products."""
    count = 0
    for c_index, (cat_name, cat_km, products) in enumerate(MENU):
        category = Category(shop_id=shop.id, name=cat_name, name_km=cat_km, sort_order=c_index)
        db.add(category)
        for p_index, (name, name_km, price, image, groups) in enumerate(products):
            product = Product(
                shop_id=shop.id,
                category=category,
                name=name,
                name_km=name_km,
                description=f"Freshly made {name}.",
                description_km=f"{name_km} ធ្វើថ្មីៗ។",
                price=Decimal(price),
                image=f"demo/{image}.svg",
                sort_order=p_index,
            )
            for g_index, (g_name, g_km, options, *rule) in enumerate(groups):
                group = OptionGroup(name=g_name, name_km=g_km, sort_order=g_index)
                if rule:
                    group.kind, group.min_choices, group.max_choices = rule[0]
                group.options = [
                    Option(name=o, name_km=o_km, extra_price=Decimal(extra), is_default=default,
                           sort_order=i)
                    for i, (o, o_km, extra, default) in enumerate(options)
                ]
                product.option_groups.append(group)
            db.add(product)
            count += 1
    db.flush()
    return count


def seed_demo(db: Session) -> Shop:
    """Create the demo shop if it is not there yet; returns it either way."""
    existing = db.scalar(select(Shop).where(Shop.slug == DEMO_SLUG))
    if existing is not None:
        return existing
    shop = create_shop(db, slug=DEMO_SLUG, name="Lucky Cafe", currency="USD")
    shop.name_km = "ហាងកាហ្វេលាភ"
    shop.bakong_account_id = "luckycafe@aclb"
    shop.khqr_merchant_name = "Lucky Cafe"
    shop.khqr_merchant_city = "Phnom Penh"
    seed_menu(db, shop)
    for i in range(1, 7):
        add_table(db, shop, f"Table {i}", sort_order=i, name_km=f"តុ {i}")
    staff = [add_staff(db, shop, name=name, role=role, pin=pin, email=email, password=password)
             for name, role, pin, email, password in DEMO_STAFF]
    db.flush()
    # The cash drawer is open (docs/shifts.md), so the demo's POS takes cash at once: the
    # cashier counted a $50 and 100,000 riel float.
    cashier = next(u for u in staff if u.role == "cashier")
    db.add(Shift(shop_id=shop.id, open_shop_id=shop.id, opened_by_id=cashier.id,
                 opened_at=utcnow(), float_usd=Decimal("50"), float_khr=Decimal("100000")))
    db.flush()
    return shop
