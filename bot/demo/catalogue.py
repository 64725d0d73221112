"""The fixed data the demo shop is generated from: names, regions, carriers, products.

Kept apart from the generator so the realism can be reviewed (and extended)
without reading any logic. Order matters: the generator draws from these
tuples with a seeded random generator, so reordering changes every order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain.orders import GoodsKind

CHINESE_FAMILY_NAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
    "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo",
    "Zheng", "Liang", "Xie", "Song", "Tang", "Han", "Feng", "Deng", "Cao", "Peng",
    "Zeng", "Xiao", "Tian", "Dong", "Pan", "Yuan", "Cai", "Jiang", "Yu", "Du",
)  # fmt: skip

CHINESE_GIVEN_NAMES = (
    "Wei", "Fang", "Na", "Min", "Jing", "Xiuying", "Qiang", "Lei", "Jun", "Yang",
    "Yong", "Yan", "Jie", "Juan", "Tao", "Ming", "Chao", "Xia", "Ping", "Gang",
    "Hui", "Yifan", "Zihan", "Yuxuan", "Haoran", "Xinyi", "Siyu", "Mengqi", "Jiahui",
    "Zhiwei", "Wenjing", "Yuting", "Junjie", "Shuang", "Lingling", "Xiaoming",
    "Tingting", "Hao", "Bo", "Kai", "Rui", "Xin", "Yue", "Jiayi", "Zixuan",
)  # fmt: skip

# Expats and overseas buyers order from the same shops; a minority of customers.
INTERNATIONAL_GIVEN_NAMES = (
    "Emily", "Daniel", "Sofia", "Lucas", "Olivia", "James", "Anna", "Mateo", "Chloé",
    "Noah", "Aisha", "Hiroshi", "Priya", "Ivan", "Laura", "Thomas", "Yuki", "Omar",
    "Elena", "José", "Min-jun", "Fatima", "Ngozi", "Lena", "Arjun",
)  # fmt: skip

INTERNATIONAL_FAMILY_NAMES = (
    "Smith", "Garcia", "Müller", "Kim", "Tanaka", "Novak", "Rossi", "Dubois",
    "Petrov", "Khan", "Nguyen", "Silva", "Johansson", "O'Brien", "Schmidt", "Cohen",
    "Sato", "Park", "Kowalski", "Fischer", "Okafor", "Haddad", "Moreau", "Patel",
)  # fmt: skip

INTERNATIONAL_SHARE = 0.18

# China Mobile, Unicom and Telecom prefixes.
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150",
    "151", "152", "153", "155", "156", "157", "158", "159", "166", "177",
    "180", "181", "182", "183", "185", "186", "187", "188", "189", "199",
)  # fmt: skip

# Reserved for documentation (RFC 2606): demo data never names a real mailbox.
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class Region:
    label: str  # what the customer record holds, e.g. "Hubei (Wuhan)"
    city: str
    hub: str  # the carriers' sorting centre serving the city
    districts: tuple[str, ...]
    warehouse: str  # the shop warehouse that ships to this region
    weight: int  # share of customers


@dataclass(frozen=True)
class Warehouse:
    name: str
    region: str  # label of the region it sits in, whose hub it uses


WAREHOUSES = (
    Warehouse("Shanghai Jiading warehouse", "Shanghai"),
    Warehouse("Guangzhou Baiyun warehouse", "Guangdong (Guangzhou)"),
    Warehouse("Chengdu Shuangliu warehouse", "Sichuan (Chengdu)"),
    Warehouse("Beijing Daxing warehouse", "Beijing"),
)

_SH, _GZ, _CD, _BJ = (warehouse.name for warehouse in WAREHOUSES)

REGIONS = (
    Region("Shanghai", "Shanghai", "Shanghai Qingpu sorting centre",
           ("Pudong", "Minhang", "Xuhui", "Jing'an", "Yangpu"), _SH, 16),
    Region("Beijing", "Beijing", "Beijing Shunyi sorting centre",
           ("Chaoyang", "Haidian", "Dongcheng", "Fengtai", "Tongzhou"), _BJ, 14),
    Region("Hubei (Wuhan)", "Wuhan", "Wuhan Dongxihu sorting centre",
           ("Wuchang", "Hankou", "Hanyang", "Hongshan"), _SH, 9),
    Region("Guangdong (Guangzhou)", "Guangzhou", "Guangzhou Baiyun sorting centre",
           ("Tianhe", "Yuexiu", "Haizhu", "Panyu"), _GZ, 10),
    Region("Guangdong (Shenzhen)", "Shenzhen", "Shenzhen Longhua sorting centre",
           ("Nanshan", "Futian", "Luohu", "Bao'an"), _GZ, 9),
    Region("Sichuan (Chengdu)", "Chengdu", "Chengdu Shuangliu sorting centre",
           ("Jinjiang", "Wuhou", "Qingyang", "Chenghua"), _CD, 8),
    Region("Zhejiang (Hangzhou)", "Hangzhou", "Hangzhou Xiaoshan sorting centre",
           ("Xihu", "Binjiang", "Gongshu", "Yuhang"), _SH, 8),
    Region("Jiangsu (Nanjing)", "Nanjing", "Nanjing Jiangning sorting centre",
           ("Gulou", "Xuanwu", "Qinhuai", "Jianye"), _SH, 7),
    Region("Shaanxi (Xi'an)", "Xi'an", "Xi'an Weiyang sorting centre",
           ("Yanta", "Beilin", "Lianhu", "Xincheng"), _CD, 5),
    Region("Chongqing", "Chongqing", "Chongqing Shapingba sorting centre",
           ("Yuzhong", "Jiangbei", "Nan'an", "Yubei"), _CD, 5),
    Region("Hunan (Changsha)", "Changsha", "Changsha Wangcheng sorting centre",
           ("Yuelu", "Furong", "Tianxin", "Kaifu"), _GZ, 4),
    Region("Shandong (Qingdao)", "Qingdao", "Qingdao Jimo sorting centre",
           ("Shinan", "Shibei", "Laoshan", "Licang"), _BJ, 3),
    Region("Tianjin", "Tianjin", "Tianjin Wuqing sorting centre",
           ("Heping", "Hexi", "Nankai", "Binhai"), _BJ, 2),
)  # fmt: skip


@dataclass(frozen=True)
class Carrier:
    name: str
    tracking_prefix: str
    tracking_digits: int  # random digits after the prefix
    regular_weight: int
    cold_chain_weight: int  # 0: does not carry fresh or chilled goods

    @property
    def tracking_pattern(self) -> str:
        """A regular expression for this carrier's tracking numbers."""
        return rf"{self.tracking_prefix}\d{{{self.tracking_digits}}}"


CARRIERS = (
    Carrier("SF Express", "SF", 13, 18, 60),  # SF1234567890123
    Carrier("JD Logistics", "JDVA", 11, 22, 40),  # JDVA12345678901
    Carrier("ZTO Express", "75", 12, 27, 0),  # 75123456789012
    Carrier("YTO Express", "YT", 13, 23, 0),  # YT1234567890123
    Carrier("China Post EMS", "11", 11, 10, 0),  # 1112345678901
)


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    unit_price: Decimal  # CNY
    kind: GoodsKind
    max_quantity: int


def _p(sku: str, name: str, price: str, kind: GoodsKind, max_quantity: int = 1) -> Product:
    return Product(sku, name, Decimal(price), kind, max_quantity)


_R, _F, _C = GoodsKind.REGULAR, GoodsKind.FRESH, GoodsKind.CHILLED

REGULAR_PRODUCTS = (
    _p("EL-1001", "Wireless noise-cancelling earbuds", "299.00", _R),
    _p("EL-1002", "65W GaN USB-C charger", "129.00", _R, 2),
    _p("EL-1003", "Power bank 20000 mAh", "159.00", _R, 2),
    _p("EL-1004", "Smart fitness band", "229.00", _R),
    _p("EL-1005", "Mechanical keyboard, brown switches", "399.00", _R),
    _p("EL-1006", "1080p home security camera", "189.00", _R, 2),
    _p("EL-1007", "27-inch 2K monitor", "1299.00", _R),
    _p("EL-1008", "USB-C braided cable, 2 m", "39.90", _R, 3),
    _p("CL-2001", "Lightweight down jacket", "459.00", _R),
    _p("CL-2002", "Cotton crew-neck T-shirt", "79.00", _R, 3),
    _p("CL-2003", "Running shoes", "369.00", _R),
    _p("CL-2004", "Merino wool scarf", "199.00", _R),
    _p("CL-2005", "Waterproof hiking jacket", "588.00", _R),
    _p("CL-2006", "Cotton socks, pack of 5", "49.90", _R, 3),
    _p("HM-3001", "Rice cooker, 4 L", "399.00", _R),
    _p("HM-3002", "Air fryer, 5 L", "349.00", _R),
    _p("HM-3003", "Vacuum flask, 500 ml", "89.00", _R, 2),
    _p("HM-3004", "Silk pillowcase", "169.00", _R, 2),
    _p("HM-3005", "Bamboo bath towels, set of 3", "119.00", _R, 2),
    _p("HM-3006", "Cordless stick vacuum", "1199.00", _R),
    _p("HM-3007", "Ceramic tea set, 6 cups", "268.00", _R),
    _p("HM-3008", "LED desk lamp", "139.00", _R),
)

FRESH_PRODUCTS = (
    _p("FR-4001", "Yantai Fuji apples, 5 kg", "69.90", _F, 2),
    _p("FR-4002", "Hainan mangoes, 2.5 kg", "59.90", _F, 2),
    _p("FR-4003", "Chilean cherries, 2 kg", "239.00", _F),
    _p("FR-4004", "Lychees, 2.5 kg", "89.00", _F),
    _p("FR-4005", "Ganzhou navel oranges, 5 kg", "49.90", _F, 2),
    _p("FR-4006", "Live hairy crabs, 8 pieces", "398.00", _F),
    _p("FR-4007", "Live crayfish, 2 kg", "158.00", _F),
    _p("FR-4008", "Shouguang cherry tomatoes, 3 kg", "39.90", _F, 2),
    _p("CH-5001", "Fresh milk, 950 ml x 2", "25.80", _C, 3),
    _p("CH-5002", "Greek yoghurt, 6 cups", "35.90", _C, 2),
    _p("CH-5003", "Frozen pork and cabbage dumplings, 1 kg", "39.90", _C, 3),
    _p("CH-5004", "Frozen shrimp and leek dumplings, 1 kg", "49.90", _C, 2),
    _p("CH-5005", "Atlantic salmon fillet, 500 g", "128.00", _C),
    _p("CH-5006", "Frozen whiteleg shrimp, 1.5 kg", "119.00", _C),
)

# Shares of orders: regular goods only, fresh or chilled only, a mix of both.
BASKET_WEIGHTS = {"regular": 64, "fresh": 24, "mixed": 12}
LINE_COUNT_WEIGHTS = {1: 50, 2: 28, 3: 15, 4: 7}

DELAY_REASONS = (
    "Delayed: traffic controls on the route",
    "Held at hub: carrier capacity shortage",
    "Delayed: epidemic control measures in the area",
    "Delayed by heavy rain on the route",
    "Held at hub: sorting backlog after a sales peak",
)

DELIVERY_NOTES = (
    "Delivered, signed for by the customer",
    "Delivered, signed for by the customer",
    "Delivered to a parcel locker",
    "Delivered, left with building reception",
    "Delivered to a community pickup point",
)

# What customers write on return and claim forms. Regular goods by SKU family
# (electronics, clothing, home); fresh food by what can go wrong with it.
NO_REASON_REASONS = (
    "No longer needed", "Ordered the wrong size", "Colour differs from the photos",
    "Bought by mistake", "Found a better fit elsewhere",
)  # fmt: skip
QUALITY_REASONS = {
    "EL": ("Does not switch on out of the box", "Stopped working after two days",
           "Arrived with a cracked casing"),
    "CL": ("Seam came apart the first time it was worn", "Wrong size sent",
           "Stain on the fabric when unpacked"),
    "HM": ("Arrived damaged: crushed box and a cracked part", "Wrong item sent",
           "Parts missing from the box"),
}  # fmt: skip
FRESH_PROBLEMS = {
    "fruit": ("several pieces bruised and soft", "about a third of it mouldy",
              "box crushed, fruit split and leaking"),
    "live": ("three arrived dead", "dead on arrival and smelling"),
    "chilled": ("ice packs melted and it arrived warm", "packaging swollen and leaking",
                "already past its use-by date"),
    "frozen": ("arrived thawed and stuck together", "ice packs melted and it arrived soft"),
}  # fmt: skip
