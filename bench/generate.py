"""Synthetic contact files with known truth, for measuring dedupe quality and speed.

Writes a CSV in the generic layout (First Name, Last Name, Email, Mobile, Company, ...)
with a ``person_id`` column (the truth: rows with the same id are the same person; dexio
keeps the column in ``extra``). ``--dup-rate`` of the rows are extra copies of people
already in the file, changed the way real exports differ: e-mail case and spacing, Gmail
dots, phone formats (national vs international), nicknames, typos, swapped first/last,
ALL-CAPS, missing fields, the work address instead of the personal one. Every copy keeps
at least one fact besides the name that ties it to its person (dexio never merges on a
name alone, so a copy with nothing but a name is not findable by design).

Traps that must NOT merge: family addresses shared by two or three people with the same
last name, company switchboard numbers shared by colleagues, info@ role addresses, and
many different people with the same common name.

    python bench/generate.py --rows 20000 --dup-rate 0.15 --seed 7 -o bench/out/20k.csv
"""

from __future__ import annotations

import argparse
import csv
import random
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dexio.nicknames import are_nicknames


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    """
james mary robert patricia john jennifer michael linda william elizabeth david barbara
richard susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy
matthew betty anthony margaret mark sandra donald ashley steven kimberly paul emily andrew
donna joshua michelle kenneth carol kevin amanda brian dorothy george melissa timothy
deborah ronald stephanie edward rebecca jason sharon jeffrey laura ryan cynthia jacob
kathleen gary amy nicholas angela eric shirley jonathan anna stephen brenda larry pamela
justin emma scott nicole brandon helen benjamin samantha samuel katherine gregory christine
alexander debra frank rachel patrick carolyn raymond janet jack catherine dennis maria
jerry heather tyler diane aaron ruth jose julie adam olivia nathan joyce henry virginia
douglas victoria zachary kelly peter lauren kyle christina ethan joan walter evelyn noah
judith jeremy megan christian andrea keith cheryl roger hannah terry jacqueline gerald
martha harold gloria sean teresa austin ann carl sara arthur madison lawrence frances
dylan kathryn jesse janice jordan jean bryan abigail billy alice joe julia bruce judy
gabriel sophia logan grace albert denise willie amber alan doris juan marilyn wayne danielle
elijah beverly randy isabella roy theresa vincent diana ralph natalie eugene brittany
russell charlotte bobby marie mason kayla philip alexis louis lori wei priya aisha mateo
sofia luca yuki hiroshi fatima omar ines lars ingrid kofi amara chen mei arjun ravi
"""
)

LAST_NAMES = _words(
    """
smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez
gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white
harris sanchez clark ramirez lewis robinson walker young allen king wright scott torres
nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts
gomez phillips evans turner diaz parker cruz edwards collins reyes stewart morris morales
murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos
kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes
price alvarez castillo sanders patel myers long ross foster jimenez powell jenkins perry
russell sullivan bell coleman butler henderson barnes gonzales fisher vasquez simmons
romero jordan patterson alexander hamilton graham reynolds griffin wallace moreno west
cole hayes bryant herrera gibson ellis tran medina aguilar stevens murray ford castro
marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas henry
chen freeman webb tucker guzman burns crawford olson simpson porter hunter gordon mendez
silva shaw snyder mason dixon munoz hunt hicks holmes palmer wagner black robertson boyd
rose stone salazar fox warren mills meyer rice schmidt garza daniels ferguson nichols
stephens soto weaver ryan gardner payne grant dunn kelley spencer hawkins arnold pierce
hansen peters santos hart bradley knight elliott cunningham duncan armstrong hudson
carroll lane riley andrews alvarado ray delgado berry perkins hoffman johnston matthews
pena richards contreras willis carpenter lawrence sandoval guerrero george chapman rios
estrada ortega watkins greene nunez wheeler valdez harper burke larson santiago maldonado
morrison franklin carlson austin dominguez carr lawson jacobs obrien lynch singh vega
bishop montgomery oliver jensen harvey williamson gilbert dean sims espinoza howell li
wong reid hanson le mccoy garrett burton fuller wang weber welch rojas lucas marquez
fields park yang little banks padilla day walsh bowman schultz luna fowler mejia davidson
acosta brewer may holland juarez newman pearson curtis cortez douglas schneider joseph
barrett navarro figueroa keller avila wade molina stanley hopkins campos barnett bates
chambers caldwell beck lambert miranda byrd craig ayala lowe frazier powers neal leonard
gregory carrillo sutton fleming rhodes shelton schwartz norris jennings watts duran walters
cohen mcdaniel moran parks steele vaughn becker holt deleon barker terry hale leon hail
"""
)

#: Rare surnames are built from these, so a large file has a long tail like real data.
_STEMS = _words("ash bark birch brook cald dal elm fair gold hol kin lang mar north oak pen")
_ENDS = _words("by dale field ford gate ham hurst ley mont ridge ton well wick wood worth stead")

COMPANY_WORDS = _words(
    """
acme apex atlas beacon blue bright cedar cloud crest delta echo ember falcon forge
granite harbor horizon iron juniper keystone lumen maple meridian nimbus north nova oak
orbit peak pine pioneer prism quantum quartz red river sage silver solar spark sterling
summit terra tide true union vector vertex vista wave willow zen
"""
)
COMPANY_KINDS = _words("labs systems partners group health studio capital logistics foods media")
COMPANY_FORMS = ["", "", " Inc", " Inc.", " LLC", " Ltd", " Corp", " GmbH"]

CITIES = _words(
    """
new_york los_angeles chicago houston phoenix philadelphia san_antonio san_diego dallas
austin jacksonville columbus charlotte indianapolis seattle denver boston nashville
detroit portland memphis louisville baltimore milwaukee albuquerque tucson fresno
sacramento atlanta miami oakland minneapolis tulsa cleveland tampa pittsburgh cincinnati
orlando st_louis raleigh omaha honolulu anchorage buffalo madison boise richmond spokane
"""
)
TITLES = _words(
    """
engineer manager director designer analyst consultant founder ceo cto cfo vp_sales
product_manager account_executive recruiter teacher nurse doctor lawyer architect
accountant marketing_lead sales_rep researcher professor writer editor photographer
"""
)
AREA_CODES = [
    201,
    202,
    206,
    212,
    213,
    214,
    303,
    305,
    312,
    313,
    404,
    408,
    415,
    503,
    512,
    602,
    617,
    646,
    702,
    713,
    718,
    773,
    786,
    818,
    917,
    919,
    971,
]
PERSONAL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com"]

NICKNAMES = {
    "robert": ["bob", "rob", "bobby"],
    "william": ["bill", "will", "billy"],
    "elizabeth": ["liz", "beth", "lizzie"],
    "katherine": ["kate", "katie"],
    "catherine": ["cathy", "kate"],
    "james": ["jim", "jimmy"],
    "john": ["johnny", "jack"],
    "michael": ["mike", "mikey"],
    "richard": ["rick", "dick", "rich"],
    "joseph": ["joe", "joey"],
    "thomas": ["tom", "tommy"],
    "charles": ["charlie", "chuck"],
    "christopher": ["chris"],
    "daniel": ["dan", "danny"],
    "matthew": ["matt"],
    "anthony": ["tony"],
    "steven": ["steve"],
    "andrew": ["andy", "drew"],
    "joshua": ["josh"],
    "kenneth": ["ken", "kenny"],
    "timothy": ["tim"],
    "ronald": ["ron"],
    "edward": ["ed", "ted", "eddie"],
    "jeffrey": ["jeff"],
    "nicholas": ["nick"],
    "jonathan": ["jon"],
    "stephen": ["steve"],
    "benjamin": ["ben"],
    "samuel": ["sam"],
    "gregory": ["greg"],
    "alexander": ["alex"],
    "patrick": ["pat"],
    "margaret": ["maggie", "peggy", "meg"],
    "jennifer": ["jen", "jenny"],
    "patricia": ["pat", "patty", "trish"],
    "susan": ["sue", "susie"],
    "jessica": ["jess"],
    "deborah": ["deb", "debbie"],
    "rebecca": ["becky"],
    "kimberly": ["kim"],
    "pamela": ["pam"],
    "samantha": ["sam"],
    "christine": ["chris"],
    "victoria": ["vicky"],
    "abigail": ["abby"],
    "gabriel": ["gabe"],
    "zachary": ["zach"],
    "lawrence": ["larry"],
    "frances": ["fran"],
    "dorothy": ["dot"],
    "judith": ["judy"],
    "theresa": ["terry"],
    "alexis": ["lexi"],
    "madison": ["maddie"],
    "natalie": ["nat"],
}

HEADER = [
    "person_id", "First Name", "Last Name", "Email", "Work Email", "Mobile", "Work Phone",
    "Company", "Job Title", "Birthday", "City", "LinkedIn", "Tags", "Notes",
]  # fmt: skip


@dataclass
class Person:
    pid: int
    first: str
    last: str
    company: str | None = None
    domain: str | None = None
    title: str | None = None
    email: str | None = None
    work_email: str | None = None
    mobile: str | None = None  # digits: area + 7
    work_phone: str | None = None
    birthday: tuple[int, int, int] | None = None
    city: str | None = None
    linkedin: str | None = None
    tags: list[str] = field(default_factory=list)


def _zipf(n: int, s: float = 1.0) -> list[float]:
    return [1.0 / (k + 1) ** s for k in range(n)]


class Generator:
    """All randomness comes from one seeded ``random.Random``: same seed, same file."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        rare = [a + b for a in _STEMS for b in _ENDS]
        self.lasts = LAST_NAMES + rare
        self.last_w = _zipf(len(LAST_NAMES), 0.9) + [0.002] * len(rare)
        self.first_w = _zipf(len(FIRST_NAMES), 0.7)
        self.used_emails: set[str] = set()
        self.used_phones: set[str] = set()
        self.companies = self._companies(4000)
        self.company_w = _zipf(len(self.companies), 0.6)
        # Some companies answer on one switchboard number for every employee.
        self.switchboards = {c: self._phone() for c in self.companies if self.r.random() < 0.08}

    def _companies(self, n: int) -> list[tuple[str, str]]:
        seen: set[str] = set()
        out = []
        while len(out) < n:
            base = f"{self.r.choice(COMPANY_WORDS)} {self.r.choice(COMPANY_KINDS)}"
            if base in seen:
                base = f"{base} {self.r.choice(COMPANY_WORDS)}"
                if base in seen:
                    continue
            seen.add(base)
            name = base.title() + self.r.choice(COMPANY_FORMS)
            out.append((name, base.replace(" ", "") + ".com"))
        return out

    def _phone(self) -> str:
        while True:
            exchange = self.r.randint(200, 999)
            if exchange == 555:
                continue
            number = f"{self.r.choice(AREA_CODES)}{exchange}{self.r.randint(0, 9999):04d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def _email(self, local: str, domain: str) -> str:
        address = f"{local}@{domain}"
        while _mailbox(address) in self.used_emails:
            address = f"{local}{self.r.randint(1, 999)}@{domain}"
        self.used_emails.add(_mailbox(address))
        return address

    def person(self, pid: int) -> Person:
        r = self.r
        first = r.choices(FIRST_NAMES, self.first_w)[0]
        last = r.choices(self.lasts, self.last_w)[0]
        p = Person(pid, first, last)
        if r.random() < 0.8:
            p.company, p.domain = r.choices(self.companies, self.company_w)[0]
            if r.random() < 0.7:
                p.title = r.choice(TITLES).replace("_", " ")
            if r.random() < 0.45:
                p.work_email = self._email(f"{first[0]}{last}", p.domain)
            board = self.switchboards.get((p.company, p.domain))
            if board and r.random() < 0.7:
                p.work_phone = board
        if r.random() < 0.7:
            pattern = r.choice(["{f}.{l}", "{f}{l}", "{f}_{l}", "{i}{l}", "{f}.{l}{n}"])
            local = pattern.format(f=first, l=last, i=first[0], n=r.randint(1, 99))
            p.email = self._email(local, r.choice(PERSONAL_DOMAINS))
        if r.random() < 0.65:
            p.mobile = self._phone()
        if r.random() < 0.35:
            p.birthday = (r.randint(1950, 2002), r.randint(1, 12), r.randint(1, 28))
        if r.random() < 0.6:
            p.city = r.choice(CITIES).replace("_", " ").title()
        if r.random() < 0.3:
            p.linkedin = f"{first}-{last}-{r.randrange(16**6):06x}"
        if r.random() < 0.3:
            p.tags = r.sample(["friend", "work", "vip", "conference", "family"], 1)
        return p

    def family(self, start_pid: int) -> list[Person]:
        """Two or three people with one last name sharing a family address (must NOT merge)."""
        r = self.r
        head = self.person(start_pid)
        size = r.choice([2, 2, 3])
        members = [head]
        taken = {head.first}
        while len(members) < size:
            other = self.person(start_pid + len(members))
            if other.first in taken or _related(other.first, taken):
                continue
            other.last = head.last
            taken.add(other.first)
            members.append(other)
        shared = self._email(f"{head.last}family", r.choice(PERSONAL_DOMAINS))
        for m in members:
            m.email = shared
        return members

    # -- rendering ------------------------------------------------------------------------

    def render(self, p: Person, copy: bool) -> dict[str, str]:
        """One CSV row for ``p``; a ``copy`` differs the way duplicates in the wild do."""
        r = self.r
        first, last = p.first.title(), p.last.title()
        email, work_email = p.email, p.work_email
        mobile, work_phone = p.mobile, p.work_phone
        company, title, city, birthday = p.company, p.title, p.city, p.birthday
        linkedin = p.linkedin
        if copy:
            if r.random() < 0.25 and p.first in NICKNAMES:
                first = r.choice(NICKNAMES[p.first]).title()
            if r.random() < 0.15:
                first, last = (
                    (_typo(r, first), last) if r.random() < 0.5 else (first, _typo(r, last))
                )
            if r.random() < 0.05:
                first, last = last, first
            if r.random() < 0.1:
                first, last = first.upper(), last.upper()
            # Formatting of the same e-mail and phone.
            if email and r.random() < 0.3:
                email = _recase(r, email)
            if email and r.random() < 0.1 and email.endswith("@gmail.com"):
                local, _, domain = email.partition("@")
                email = local.replace(".", "") + "@" + domain
            # Missing fields and other addresses.
            if r.random() < 0.3:
                email = None
            if email is None and work_email and r.random() < 0.5:
                email, work_email = work_email, None
            if r.random() < 0.3:
                mobile = None
            if r.random() < 0.3:
                company = None
            if r.random() < 0.3:
                title = None
            if r.random() < 0.3:
                linkedin = None
            if r.random() < 0.3:
                city = None
            if r.random() < 0.3:
                work_phone = None
            if not _findable(email, work_email, mobile, linkedin, company, birthday, city, title):
                # Put back one fact that ties the copy to its person.
                if p.email and _personal(p.email):
                    email = p.email
                elif p.mobile:
                    mobile = p.mobile
                elif p.linkedin:
                    linkedin = p.linkedin
                elif p.company:
                    company = p.company
                elif p.birthday:
                    birthday = p.birthday
                elif p.work_email:
                    work_email = p.work_email
        return {
            "person_id": str(p.pid),
            "First Name": _space(r, first) if copy else first,
            "Last Name": last,
            "Email": email or "",
            "Work Email": work_email or "",
            "Mobile": _format_phone(r, mobile, copy) if mobile else "",
            "Work Phone": _format_phone(r, work_phone, copy) if work_phone else "",
            "Company": (company.upper() if copy and company and r.random() < 0.1 else company)
            or "",
            "Job Title": title.title() if title else "",
            "Birthday": _format_birthday(r, birthday, copy) if birthday else "",
            "City": city or "",
            "LinkedIn": (
                f"https://www.linkedin.com/in/{linkedin}/"
                if linkedin and (not copy or r.random() < 0.5)
                else linkedin or ""
            ),
            "Tags": ";".join(p.tags),
            "Notes": f"note about {p.pid}" if r.random() < 0.1 else "",
        }


def _related(name: str, taken: set[str]) -> bool:
    """Avoid "families" of Chris and Christine or Bob and Robert: they read as one person."""
    for other in taken:
        if (
            name[:3] == other[:3]
            or name in NICKNAMES.get(other, [])
            or other in NICKNAMES.get(name, [])
            or are_nicknames(name, other)
        ):
            return True
    return False


def _mailbox(address: str) -> str:
    """Gmail ignores dots: j.smith@ and jsmith@ are one mailbox, so one person's."""
    local, _, domain = address.partition("@")
    return local.replace(".", "") + "@" + domain if domain == "gmail.com" else address


def _personal(email: str) -> bool:
    """An address of one person: not a family address and not a role mailbox."""
    local = email.split("@")[0]
    return not local.endswith("family") and local != "info"


def _findable(
    email: str | None,
    work_email: str | None,
    mobile: str | None,
    linkedin: str | None,
    company: str | None,
    birthday: tuple[int, int, int] | None,
    city: str | None,
    title: str | None,
) -> bool:
    return bool(
        (email and _personal(email))
        or work_email
        or mobile
        or linkedin
        or company
        or birthday
        or (city and title)
    )


def _typo(r: random.Random, word: str) -> str:
    """One keyboard slip after the first two letters (where people rarely slip)."""
    if len(word) < 5:
        return word
    i = r.randint(2, len(word) - 2)
    kind = r.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + r.choice(string.ascii_lowercase) + word[i + 1 :]


def _recase(r: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    style = r.choice(["upper_domain", "title", "spaces"])
    if style == "upper_domain":
        return f"{local}@{domain.upper()}"
    if style == "title":
        return f"{local.title()}@{domain}"
    return f"  {email} "


def _space(r: random.Random, name: str) -> str:
    return f" {name}  " if r.random() < 0.05 else name


def _format_phone(r: random.Random, digits: str, copy: bool) -> str:
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    if not copy:
        return f"+1 {area} {exchange} {line}"
    return r.choice(
        [
            f"({area}) {exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"+1{area}{exchange}{line}",
            f"1-{area}-{exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"+1 {area} {exchange} {line}",
        ]
    )


def _format_birthday(r: random.Random, ymd: tuple[int, int, int], copy: bool) -> str:
    y, m, d = ymd
    if not copy:
        return f"{y:04d}-{m:02d}-{d:02d}"
    return r.choice([f"{y:04d}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y:04d}"])


def generate(rows: int, dup_rate: float = 0.15, seed: int = 7) -> list[dict[str, str]]:
    """``rows`` CSV records, ``dup_rate`` of them copies of people already there, shuffled."""
    gen = Generator(seed)
    r = gen.r
    originals = max(1, round(rows * (1 - dup_rate)))
    people: list[Person] = []
    while len(people) < originals:
        pid = len(people) + 1
        if r.random() < 0.02:
            people.extend(gen.family(pid))
        else:
            people.append(gen.person(pid))
    people = people[:originals]
    # A few people are known only by a role address of their company (must NOT merge).
    for p in r.sample(people, k=min(len(people), max(1, originals // 200))):
        if p.domain:
            p.email = f"info@{p.domain}"
    out = [gen.render(p, copy=False) for p in people]
    weights = [r.random() ** 2 for _ in people]  # some people are copied more than once
    for p in r.choices(people, weights, k=rows - originals):
        out.append(gen.render(p, copy=True))
    r.shuffle(out)
    return out


def write_csv(path: Path, records: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--dup-rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-o", "--out", type=Path, default=Path("bench/out/contacts.csv"))
    args = parser.parse_args(argv)
    write_csv(args.out, generate(args.rows, args.dup_rate, args.seed))
    print(f"wrote {args.rows:,} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
