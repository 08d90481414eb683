"""The catalog as the import left it, read-only: 1C is where it is edited.

An edit made here would silently diverge from 1C (an unchanged row is skipped by the next import),
so administrators browse and search here and change data in 1C.
"""
from __future__ import annotations

from django.contrib import admin
from django.core.files.storage import default_storage
from django.db.models import Count, OuterRef, Subquery
from django.utils.html import format_html

from .models import Brand, Category, Offer, Price, PriceType, Product, ProductImage, Property, Stock, Warehouse


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ("name", "parent", "is_active", "onec_id")
    list_filter = ("is_active",)
    search_fields = ("name", "onec_id")
    list_select_related = ("parent",)


THUMBNAIL_PX = 64


def thumbnail(name: str, *, size: int = THUMBNAIL_PX, alt: str = ""):
    """An ``<img>`` of a stored picture (escaped: names and alt texts come from 1C), or a dash."""
    if not name:
        return format_html('<span class="text-muted" title="{}">нет файла</span>',
                           "изображение ещё не скопировано в хранилище: его скопирует следующий импорт")
    return format_html('<img src="{}" alt="{}" width="{}" height="{}" loading="lazy" class="product-thumbnail" '
                       'style="object-fit: contain">', default_storage.url(name), alt, size, size)


class ProductImageInline(ReadOnlyInline):
    model = ProductImage
    fields = ("position", "preview", "path", "file")
    readonly_fields = ("preview",)

    @admin.display(description="изображение")
    def preview(self, obj):
        return thumbnail(obj.file.name, size=160, alt=obj.path)


class OfferInline(ReadOnlyInline):
    model = Offer
    fields = ("name", "sku", "quantity", "is_active", "onec_id")
    show_change_link = True


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ("picture", "name", "sku", "category", "brand", "offer_count", "is_active", "updated_at")
    list_display_links = ("picture", "name")
    list_filter = ("is_active", "brand", "category")
    search_fields = ("name", "sku", "barcode", "onec_id")
    list_select_related = ("category", "brand")
    inlines = [OfferInline, ProductImageInline]

    def get_queryset(self, request):
        first_picture = ProductImage.objects.filter(product=OuterRef("pk")).order_by("position").values("file")[:1]
        return super().get_queryset(request).annotate(offer_total=Count("offers"), first_picture=Subquery(first_picture))

    @admin.display(description="фото")
    def picture(self, obj):
        if obj.first_picture is None:
            return ""
        return thumbnail(obj.first_picture, size=48, alt=obj.name)

    @admin.display(description="предложений", ordering="offer_total")
    def offer_count(self, obj):
        return obj.offer_total


class PriceInline(ReadOnlyInline):
    model = Price
    fields = ("price_type", "value", "currency", "updated_at")


class StockInline(ReadOnlyInline):
    model = Stock
    fields = ("warehouse", "quantity", "updated_at")


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ("name", "sku", "product", "quantity", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "sku", "barcode", "onec_id", "product__name")
    list_select_related = ("product",)
    inlines = [PriceInline, StockInline]


@admin.register(PriceType)
class PriceTypeAdmin(ReadOnlyAdmin):
    list_display = ("name", "currency", "is_active", "onec_id")


@admin.register(Warehouse)
class WarehouseAdmin(ReadOnlyAdmin):
    list_display = ("name", "is_active", "onec_id")


@admin.register(Brand)
class BrandAdmin(ReadOnlyAdmin):
    list_display = ("name", "is_active", "onec_id")
    search_fields = ("name",)


@admin.register(Property)
class PropertyAdmin(ReadOnlyAdmin):
    list_display = ("name", "value_type", "is_active", "onec_id")
    search_fields = ("name",)
