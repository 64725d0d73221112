"""Where demo orders go and what delivery costs: addresses and shipping fees.

Addresses are written the way Chinese addresses are put into English, smallest
part first, and lie in the district the customer's parcels are routed to, so
that the tracking ("Wuhan Hankou delivery station") and the address agree.
Fees follow the shipping policy in the knowledge base (`shipping-times`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

from bot.demo.journeys import Destination

# Real roads of each city, so that the demo reads like the shop's own data.
STREETS = {
    "Shanghai": ("Nanjing West Road", "Huaihai Middle Road", "Century Avenue", "Zhangyang Road",
                 "Caoxi North Road", "Changshou Road", "Siping Road", "Hongqiao Road"),
    "Beijing": ("Jianguo Road", "Zhongguancun Street", "Chaoyang North Road",
                "Dongsi North Street", "Fengtai Road", "Wangjing Street", "Xinhua Street"),
    "Wuhan": ("Jiefang Avenue", "Zhongshan Avenue", "Wuluo Road", "Luoyu Road",
              "Hanyang Avenue", "Zhongbei Road"),
    "Guangzhou": ("Tianhe Road", "Huanshi East Road", "Zhongshan 5th Road",
                  "Jiangnan Avenue Middle", "Panyu Avenue", "Tianhe North Road"),
    "Shenzhen": ("Shennan Avenue", "Keyuan Road", "Binhe Avenue", "Dongmen Road",
                 "Xin'an Road", "Houhai Avenue"),
    "Chengdu": ("Renmin South Road", "Tianfu Avenue", "Chunxi Road", "Wuhou Avenue",
                "Jianshe Road", "Shuhan Road"),
    "Hangzhou": ("Wensan Road", "Yan'an Road", "Jiangnan Avenue", "Moganshan Road",
                 "Wenyi West Road", "Qiutao Road"),
    "Nanjing": ("Zhongshan Road", "Hanzhong Road", "Beijing East Road",
                "Jiangdong Middle Road", "Longpan Road", "Zhongshan South Road"),
    "Xi'an": ("Chang'an Road", "Xiaozhai East Road", "Keji Road", "Jiefang Road",
              "Fengcheng 2nd Road", "Huancheng West Road"),
    "Chongqing": ("Jiefang East Road", "Jianxin North Road", "Nanping North Road",
                  "Jinkai Avenue", "Zourong Road"),
    "Changsha": ("Wuyi Avenue", "Furong Middle Road", "Lushan Road", "Xiangjiang Middle Road",
                 "Shaoshan North Road", "Renmin East Road"),
    "Qingdao": ("Hong Kong Middle Road", "Zhongshan Road", "Ningxia Road", "Yan'an 3rd Road",
                "Liaoyang West Road", "Shandong Road"),
    "Tianjin": ("Nanjing Road", "Binshui Road", "Weijin Road", "Youyi Road",
                "Jiefang North Road", "Huanghe Road"),
}  # fmt: skip

COMPOUNDS = (
    "Jinxiu Garden", "Vanke City Garden", "Century Garden", "Sunshine Residence",
    "Poly Garden", "Riverside Homes", "Xinghe Residence", "Heping Lijing", "Huating Garden",
)  # fmt: skip

OFFICE_BUILDINGS = (
    "Wanda Plaza", "Raffles City", "Times Square", "Poly Plaza", "Kerry Centre",
    "Financial Centre", "Software Park",
)  # fmt: skip

# Districts that are not called "X District" in English addresses.
DISTRICT_NAMES = {"Pudong": "Pudong New Area", "Binhai": "Binhai New Area", "Hankou": "Hankou"}

SECOND_ADDRESS_SHARE = 0.25  # customers who also have parcels sent to work
SECOND_ADDRESS_USE = 0.3  # of their orders, the share that goes there

# Standard delivery is free over CNY 99; cold chain costs more and is free over CNY 199.
FREE_SHIPPING_OVER = Decimal("99")
COLD_CHAIN_FREE_OVER = Decimal("199")
SHIPPING_FEE = Decimal("8.00")
COLD_CHAIN_FEE = Decimal("12.00")


def _tail(destination: Destination) -> str:
    """District, city and, outside the four municipalities, the province."""
    region = destination.region
    district = DISTRICT_NAMES.get(destination.district, f"{destination.district} District")
    province = region.label.split(" (")[0] if " (" in region.label else None
    return ", ".join(part for part in (district, region.city, province) if part)


def _home(rng: random.Random, destination: Destination) -> str:
    street = rng.choice(STREETS[destination.region.city])
    room = f"Room {rng.randint(1, 32)}{rng.randint(1, 6):02d}"
    if destination.region.city == "Shanghai" and rng.random() < 0.5:  # lanes are Shanghai's own
        place = f"{room}, No. {rng.randint(1, 60)}, Lane {rng.randint(10, 1999)} {street}"
    elif rng.random() < 0.5:
        place = f"{room}, Building {rng.randint(1, 24)}, {rng.choice(COMPOUNDS)}, "
        place += f"{rng.randint(1, 999)} {street}"
    else:
        place = f"{room}, Building {rng.randint(1, 24)}, {rng.randint(1, 999)} {street}"
    return f"{place}, {_tail(destination)}"


def _office(rng: random.Random, destination: Destination) -> str:
    street = rng.choice(STREETS[destination.region.city])
    tower = rng.choice("ABCD")
    building = rng.choice(OFFICE_BUILDINGS)
    place = f"{rng.randint(3, 45)}F, Tower {tower}, {building}, {rng.randint(1, 999)} {street}"
    return f"{place}, {_tail(destination)}"


def address_book(rng: random.Random, destinations: Sequence[Destination]) -> list[list[str]]:
    """Each customer's addresses, home first; all in the district their parcels go to."""
    book = []
    for destination in destinations:
        addresses = [_home(rng, destination)]
        if rng.random() < SECOND_ADDRESS_SHARE:
            addresses.append(_office(rng, destination))
        book.append(addresses)
    return book


def pick_address(rng: random.Random, addresses: Sequence[str]) -> str:
    if len(addresses) > 1 and rng.random() < SECOND_ADDRESS_USE:
        return addresses[1]
    return addresses[0]


def shipping_fee(goods_total: Decimal, *, cold_chain: bool) -> Decimal:
    """Any fresh or chilled line sends the whole order by cold chain."""
    if cold_chain:
        return Decimal("0.00") if goods_total > COLD_CHAIN_FREE_OVER else COLD_CHAIN_FEE
    return Decimal("0.00") if goods_total > FREE_SHIPPING_OVER else SHIPPING_FEE
